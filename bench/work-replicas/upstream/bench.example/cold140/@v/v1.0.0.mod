module bench.example/cold140

go 1.21
