module bench.example/cold1

go 1.21
