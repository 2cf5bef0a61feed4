module bench.example/cold203

go 1.21
