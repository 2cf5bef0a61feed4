module bench.example/cold174

go 1.21
